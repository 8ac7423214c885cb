"""The edges: files (`fsio`), the terminal (`terminal`, `guide`, `entry`), where secrets come from
(`sources`), PKCS#11 tokens (`tokens`), the card's PDF (`card`) and the process itself (`hygiene`).

Each is thin: it reads or writes, and hands what it read to the core.
"""

"""What people read, as text: custodian READMEs and the runbook (`packets`), the readiness report (`report`),
and the one rule for showing a string from outside on a terminal, in Markdown or in HTML (`safe`)."""

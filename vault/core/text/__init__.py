"""What people read, as text: custodian READMEs and the runbook (`packets`), the readiness report (`report`)."""

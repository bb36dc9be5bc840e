"""The Audit TI service's automated steps (issue 14): identify, plan the remediation, remediate, verify."""

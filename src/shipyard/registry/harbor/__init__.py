"""Harbor: its API client, the state the spec asks for, and the vulnerability report for the scan gate."""

"""Server-rendered fragments for safeguarding actions and the outcome, loaded into the task page."""

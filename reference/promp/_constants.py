"""Numbers both sides of the protocol agree on: targets and the exit codes a worker chooses."""

ProWorker_Any = -1
ProWorker_All = -2

# Exit codes a worker uses for the ends it chooses itself.
EXIT_MANAGER_GONE = 3  # its manager died or fell silent
EXIT_ABORTED = 4  # an aborted task did not end within the time abortOperation gave it

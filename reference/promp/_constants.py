"""Numbers both sides of the protocol agree on: targets and the exit codes a worker chooses."""

ProWorker_Any = -1
ProWorker_All = -2

# Exit codes a worker uses for the ends it chooses itself, apart from the small codes scripts use
# (a task's sys.exit(code) ends its worker with that code, and is reported as such).
EXIT_MANAGER_GONE = 120  # its manager died or fell silent
EXIT_ABORTED = 121  # an aborted task did not end within the time abortOperation gave it

LONGEST_POLL_MS = 3_600_000  # a poll sleeps an hour at most: whatever a deadline says, its C int holds it

LARGE = 64 * 1024  # bytes: from here a value or frame is kept where it lies rather than copied (cheaper to track)

HEARTBEAT_INTERVAL = 0.5  # seconds between two pings, each way (a manager's default)
HEARTBEAT_TIMEOUT = 5.0  # seconds a ping may stay unanswered before the other side is gone (exported as heartbeatTimeout)
SOCKET_DIR_LOCK = "lock"  # the file a live manager holds locked in its socket directory (``manager._socket_dir``)

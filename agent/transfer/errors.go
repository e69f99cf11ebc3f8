package transfer

import "errors"

var (
	// ErrRejected means the receiver refused the offer (_ft reject).
	ErrRejected = errors.New("transfer rejected by the receiver")
	// ErrHashMismatch means the archive's SHA-256 did not match the one the
	// sender announced: the receiver's ack said "hash mismatch", or this
	// receiver computed it.
	ErrHashMismatch = errors.New("hash mismatch")
	// ErrFailed means the receiver acknowledged the transfer with ok:false
	// for another reason, given in the error text.
	ErrFailed = errors.New("transfer failed")
	// ErrTooLarge means the files exceed the size limit (50 MiB by default).
	ErrTooLarge = errors.New("transfer too large")
	// ErrTimeout means the other side did not answer in time.
	ErrTimeout = errors.New("transfer timed out")
	// ErrUnsafePath means a file name would be written outside the target
	// directory or is otherwise not acceptable (SafeJoin).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrUnknownOffer means no pending offer has that transfer ID (never
	// received, expired, or already accepted or rejected).
	ErrUnknownOffer = errors.New("unknown or expired offer")
	// ErrBusy means the Receiver already runs as many transfers as it may
	// (ReceiverConfig.MaxActive); the offer stays waiting.
	ErrBusy = errors.New("too many transfers in progress")
	// ErrBadArchive means the archive could not be unpacked.
	ErrBadArchive = errors.New("malformed archive")
	// ErrStopped means the Sender's or Receiver's Run ended (or its client
	// stopped) while a transfer was waiting for the other side.
	ErrStopped = errors.New("transfer endpoint stopped")
)

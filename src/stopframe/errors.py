"""One exception tree for the whole package, rooted at `StopframeError`.

Each layer raises the branch that names its failure; callers catch a branch, or the root to catch
anything stopframe raised on purpose. Messages name the file, field or record at fault. Only the
HTTP edge of a service turns these into problem+json responses (`ServiceError.status` says which).
"""

from __future__ import annotations


class StopframeError(Exception):
    """Anything stopframe raises on purpose."""


class ConfigError(StopframeError, ValueError):
    """A setting (STOPFRAME_* variable or flag) that is not valid; the message names it."""


# media ------------------------------------------------------------------------------------------


class MediaError(StopframeError):
    """A file that could not be turned into pixels or frames; `path` and `reason` are kept."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class UnsupportedFormat(MediaError):
    """The content is not a format stopframe decodes (checked from the bytes, not the name)."""


class NotARegularFile(UnsupportedFormat):
    """The path is a named pipe, socket or device, not a file: reading it could block forever
    or never end, so it is never read."""


class CorruptMedia(MediaError):
    """The content claims a known format but is truncated, malformed or unreadable."""


class LimitExceeded(MediaError):
    """The file is larger than the configured limits (bytes, pixels, side, frames or time)."""


# signals ----------------------------------------------------------------------------------------


class SignalValueError(StopframeError, ValueError):
    """A signal value that is not well formed for its kind; the message says what is wrong."""


class UnknownSignalType(SignalValueError):
    """A signal type name that no registered `SignalType` has."""


# index ------------------------------------------------------------------------------------------


class IndexFileError(StopframeError, ValueError):
    """An index file that is missing, truncated, corrupt or of another format; names the file."""


# lists ------------------------------------------------------------------------------------------


class ListError(StopframeError):
    """Something wrong with a hash list: its file, its signature or its source."""


class FormatError(ListError, ValueError):
    """A file that is not valid for its declared format; the message names the record."""


class TamperedListError(ListError):
    """A list document failed verification: bad signature, unpinned key, gap or malformed."""


class RegistryError(ListError):
    """A registry answered with an error or could not be reached (the detail is in the message)."""


class ListStoreError(ListError):
    """A local list store that cannot be opened or is not a store; names the file."""


# services ---------------------------------------------------------------------------------------


class ServiceError(StopframeError):
    """A request a service refuses; `status` is the HTTP status its edge answers with."""

    status = 400

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ServiceError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    status = 404


class Conflict(ServiceError):
    """The request clashes with what is stored (a duplicate name, a state that forbids it)."""

    status = 409


class Invalid(ServiceError):
    """The request is well formed but its content is refused (bad value, kind not allowed)."""

    status = 422


class TooLarge(ServiceError):
    """The request holds more than a configured limit allows."""

    status = 413


class UnsupportedMedia(ServiceError):
    """The upload is not an image or video this service reads."""

    status = 415


class Unavailable(ServiceError):
    """The service cannot answer yet (no lists loaded); try again shortly."""

    status = 503


class RateLimited(ServiceError):
    """Too many requests from one caller; `retry_after` (in `extra`) says how many seconds to
    wait."""

    status = 429


class Unauthorized(ServiceError):
    """The credentials are missing or wrong."""

    status = 401


class Forbidden(ServiceError):
    """The credentials are right but do not allow this."""

    status = 403

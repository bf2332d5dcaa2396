"""One exception class per AWS error code, carrying the HTTP status AWS uses for it."""

CONCURRENT_MODIFICATION = "Resource was modified concurrently"  # ResourceInUse, for calls that raced
INTERNAL_FAILURE = "We encountered an internal error. Please try again."  # InternalFailure's message
TEMPORARY_FAILURE = "The request has failed due to a temporary failure of the server."  # AWS's ServiceUnavailable


class ServiceError(Exception):
    """An error answered to the client in AWS JSON 1.1 error shape."""

    code = "InternalFailure"
    status = 400
    retry_after: int | None = None  # seconds, sent as Retry-After with the error

    def __init__(self, message: str | None = None):
        super().__init__(message or "")
        self.message = message


class ValidationException(ServiceError):
    code = "ValidationException"


class ResourceNotFound(ServiceError):
    code = "ResourceNotFound"


class ResourceInUse(ServiceError):
    code = "ResourceInUse"


class ResourceLimitExceeded(ServiceError):
    code = "ResourceLimitExceeded"


class SerializationException(ServiceError):
    code = "SerializationException"


class UnknownOperationException(ServiceError):
    code = "UnknownOperationException"


class InternalFailure(ServiceError):
    code = "InternalFailure"
    status = 500


class MissingAuthenticationTokenException(ServiceError):
    code = "MissingAuthenticationTokenException"


class IncompleteSignatureException(ServiceError):
    code = "IncompleteSignatureException"


class InvalidSignatureException(ServiceError):
    code = "InvalidSignatureException"


class UnrecognizedClientException(ServiceError):
    code = "UnrecognizedClientException"


class RequestEntityTooLargeException(ServiceError):
    code = "RequestEntityTooLargeException"
    status = 413


class RequestTimeout(ServiceError):
    code = "RequestTimeout"
    status = 408


class RequestHeaderSectionTooLarge(ServiceError):
    code = "RequestHeaderSectionTooLarge"


class BadRequest(ServiceError):
    """HTTP framing the server will not read (RFC 9112): malformed syntax, a missing or repeated Host, conflicting
    lengths. AWS's front ends answer these before any service sees them; the code is smimages' choice."""

    code = "BadRequest"


class FunctionalityNotImplemented(ServiceError):
    """A header asking for what the server does not do (a transfer coding other than chunked, a protocol switch):
    S3's answer to the same headers. Named apart from its code, which is a Python builtin's name."""

    code = "NotImplemented"
    status = 501


class ServiceUnavailable(ServiceError):
    """A temporary condition (too many connections, the database unavailable or locked): SDKs back off and retry."""

    code = "ServiceUnavailable"
    status = 503
    retry_after = 1


class AccessDeniedException(ServiceError):
    code = "AccessDeniedException"


class BadGateway(ServiceError):
    """The upstream of `serve --upstream` could not be reached or broke off its answer; the code is smimages'."""

    code = "BadGateway"
    status = 502


class GatewayTimeout(ServiceError):
    """The upstream of `serve --upstream` did not answer within --upstream-timeout; the code is smimages'."""

    code = "GatewayTimeout"
    status = 504

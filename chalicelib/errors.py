"""The service's exceptions. The wire layer turns each into the modeled error response.

The class name is the error code botocore maps to ``client.exceptions.<Name>``; the HTTP
status comes from the service model's error shape, so it is not repeated here.
"""


class ServiceError(Exception):
    # Used only when the code has no error shape in either model.
    status = 500

    def __init__(self, message, **fields):
        super().__init__(message)
        self.message = message
        # Modeled members besides Message (Reason, Details, ResourceName, ...).
        self.fields = {k: v for k, v in fields.items() if v is not None}

    @property
    def code(self):
        return type(self).__name__


class BadRequestException(ServiceError):
    pass


class ResourceNotFoundException(ServiceError):
    pass


class ConflictException(ServiceError):
    pass


class ServiceQuotaExceededException(ServiceError):
    pass


class PayloadTooLargeException(ServiceError):
    pass


class InternalServerException(ServiceError):
    pass


class ThrottlingException(ServiceError):
    pass


class NotImplementedException(ServiceError):
    # Not part of the AppConfig model: answers operations this server does not serve yet.
    # 501 is not in botocore's retryable set, so clients fail at once with this code.
    status = 501


class UnknownOperationException(ServiceError):
    status = 404


def not_found(resource, ident):
    """ResourceNotFoundException for a control-plane resource, naming it."""
    return ResourceNotFoundException(f'{resource} {ident} not found', ResourceName=ident)

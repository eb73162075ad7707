"""Sign-in: the security policy's account side (sessions), the sign-in flow with a second
factor, sign-out, two-factor set-up, a tenant's sign-in policy, and passwords (change, reset)."""

from pyramid.config import Configurator
from pyramid.request import Request

from datacapt.config import get_app_settings
from datacapt.signin.policy import SecurityPolicy, add_identity_loader


def idle_timeout(request: Request) -> int:
    """Seconds without a request after which a session ends: the page warns before then."""
    return get_app_settings(request.registry).session_idle_timeout


def includeme(config: Configurator) -> None:
    config.set_security_policy(SecurityPolicy())
    config.add_directive("add_identity_loader", add_identity_loader)
    config.add_request_method(idle_timeout, "idle_timeout", reify=True)
    for module in (
        ".views",
        ".two_factor_views",
        ".session_views",
        ".again_views",
        ".policy_views",
        ".password_views",
        ".jobs",
    ):
        config.scan(module)

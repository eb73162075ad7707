"""Sign-in: the security policy's account side (sessions), the sign-in flow with a second
factor, sign-out, two-factor set-up, a tenant's sign-in policy, and passwords (change, reset)."""

from pyramid.config import Configurator

from datacapt.signin.policy import SecurityPolicy


def includeme(config: Configurator) -> None:
    config.set_security_policy(SecurityPolicy())
    for module in (
        ".views",
        ".two_factor_views",
        ".session_views",
        ".policy_views",
        ".password_views",
        ".jobs",
    ):
        config.scan(module)

"""Electronic consent. Only the events it is to publish are defined yet, so that other
capabilities (automations, notifications) can register their reactions to them now."""

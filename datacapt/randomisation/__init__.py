"""Randomisation: methods over a seeded RNG, designs and lists per study, randomising subjects."""

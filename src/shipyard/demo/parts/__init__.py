"""The parts the demo's story runs against: a real registry, and stand-ins for what cannot run here."""

"""WhatsApp Cloud API formats: webhook parsing and signatures (pure, no I/O)."""

"""boxoffice: an audience CRM speaking the customer APIs venues already use."""

__version__ = "0.1.0"

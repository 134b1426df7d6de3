"""The ``policy-engine`` command: thin commands over the use cases."""

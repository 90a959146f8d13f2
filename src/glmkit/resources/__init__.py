"""The Python surface: one module per resource, sync and async classes side by side."""

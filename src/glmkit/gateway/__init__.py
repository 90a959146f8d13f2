"""``glm serve``: Anthropic Messages and OpenAI Chat in front of the GLM coding endpoint (``create_app``)."""

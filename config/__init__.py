"""The stack config: the models of every setting (frozen pydantic models with camelCase
aliases), validated as a whole before anything is planned (`stack.parse_stack_config`), and
the files the config names. The only place that reads Pulumi config."""

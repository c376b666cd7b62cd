"""Operations a person runs next to `pulumi` on a deployed stack (docs/how-to/operations.md)."""

"""Operations a person runs next to `pulumi` on a deployed stack (README "Operations")."""

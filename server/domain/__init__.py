"""Pure clinical and product rules: msgspec Structs in, Structs out, no I/O."""

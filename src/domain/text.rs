//! Text PostgreSQL can store: its `text` type holds every character but NUL, so a field with
//! one is refused next to its name instead of failing the write.

/// What a field with a NUL character is told.
pub const NO_NUL: &str = "cannot contain the NUL character (\\u0000)";

pub fn has_nul(text: &str) -> bool {
    text.contains('\0')
}

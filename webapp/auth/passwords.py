"""Password hashing: scrypt through Werkzeug, and the rules for a new password."""

from __future__ import annotations

from werkzeug.security import check_password_hash, generate_password_hash

METHOD = "scrypt"
MIN_LENGTH = 8
MAX_LENGTH = 1024  # longer input is refused before it is hashed

# A hash of a random password nobody knows, made with the same method and cost as real ones: an
# unknown email is checked against it, so a sign-in takes as long whether the email exists or not.
DUMMY_HASH = (
    "scrypt:32768:8:1$CjUQYoe0o3vjgS12$f2b1d4e2df68751cb306c663f8f633dae5d50205989e02b46b1653a1ca9aebcb"
    "e096df2df9300968cdfef502e4c18724e4ae1ebce881c0fe629d66d85f351653"
)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=METHOD)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; always does the full hash work (for over-long input too)."""
    if len(password) > MAX_LENGTH:
        check_password_hash(password_hash, password[:MAX_LENGTH])
        return False
    return check_password_hash(password_hash, password)


def password_problem(password: str) -> str | None:
    """Why `password` cannot be a new password, or None."""
    if len(password) < MIN_LENGTH:
        return f"The password must be at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must be at most {MAX_LENGTH} characters."
    if not password.strip():
        return "The password must not be blank."
    return None

"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from doudi.core.errors import FieldError, ValidationFailed

_hasher = PasswordHasher()

MIN_LENGTH = 10  # 等保 2.0 asks for complexity; 10 characters and 3 classes is our house rule


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(password_hash)


def check_password_rules(password: str, *, username: str = "") -> None:
    """Raise ValidationFailed listing every rule the password breaks."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"至少 {MIN_LENGTH} 个字符")
    classes = sum(
        [
            any(c.islower() for c in password),
            any(c.isupper() for c in password),
            any(c.isdigit() for c in password),
            any(not c.isalnum() for c in password),
        ]
    )
    if classes < 3:
        problems.append("须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("不得包含用户名")
    if problems:
        raise ValidationFailed([FieldError("password", "；".join(problems))])

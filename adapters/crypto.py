"""The Cipher port (bot.ports.Cipher) with Fernet from `cryptography`: AES-128-CBC plus an
HMAC, so a tampered or foreign token is refused rather than decrypted into garbage."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class FernetCipher:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)  # raises ValueError for a malformed key

    @classmethod
    def ephemeral(cls) -> FernetCipher:
        """A fresh random key, kept in memory only: what it encrypted is lost with the process."""
        return cls(Fernet.generate_key())

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise ValueError("the token cannot be decrypted with this key") from None

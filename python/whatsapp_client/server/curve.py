"""Server-side sanity checks of X25519 public keys before they are stored and handed out."""

from __future__ import annotations

P = 2**255 - 19
# The u-coordinates of the points of order 1, 2, 4 and 8: a Diffie-Hellman with any of
# them gives a result the attacker knows (all zero for most), whatever the private key.
LOW_ORDER_U = frozenset(
    {
        0,
        1,
        P - 1,
        325606250916557431795983626356110631294008115727848805560023387167927233504,
        39382357235489614581723060781553021112529911719440698176882885853963445705823,
    }
)


def acceptable_x25519(key: bytes) -> bool:
    """Canonical encoding (top bit clear, below p) of a u-coordinate of no low order.

    The client's core additionally refuses points outside the prime-order subgroup; this
    cheap check keeps the obvious garbage (such as all zeros) off the server.
    """
    if len(key) != 32:
        return False
    u = int.from_bytes(key, "little")
    return u < P and u not in LOW_ORDER_U

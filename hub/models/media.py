"""Media matching: known-media sets, the PDQ multi-index, and the matches found.

Exact hashes (SHA-256, MD5) are matched on B-tree indexes. PDQ (256-bit perceptual hash) is
matched within Hamming distance 31 by multi-index hashing (Norouzi et al.): each hash is cut into
16 slices of 16 bits, each slice B-tree indexed. Two hashes within distance 31 differ in at most
31 bits, so (pigeonhole, 16 slices) at least one slice differs in at most one bit: a query looks
up each of its 16 slices and the 16 one-bit neighbours of each (272 keys), then measures the full
distance of those candidates only. Recall is exact (100%) at distance <= 31, and the index lives
in the database, so every web process and worker shares it and it grows as hashes arrive.
"""

from __future__ import annotations

from django.db import models

from hub.models.referral import MediaHash, Referral

PDQ_SLICES = 16
PDQ_SLICE_BITS = 16
PDQ_MATCH_DISTANCE = 31  # Meta's Hasher-Matcher-Actioner default


class HashType(models.TextChoices):
    SHA256 = "sha256", "SHA-256"
    MD5 = "md5", "MD5"
    PDQ = "pdq", "PDQ"


class KnownHashSet(models.Model):
    """A known-media set (a VICS or CAID export) loaded by ``import_hashset``, by source name."""

    source = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.source


class KnownHash(models.Model):
    hash_set = models.ForeignKey(KnownHashSet, on_delete=models.CASCADE, related_name="hashes")
    hash_type = models.CharField(max_length=6, choices=HashType.choices)
    value = models.CharField(max_length=64)  # lower-case hex
    victim_identified = models.BooleanField(default=False)
    series = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["hash_set", "hash_type", "value"], name="known_hash_once_per_set")
        ]
        indexes = [models.Index(fields=["hash_type", "value"], name="known_hash_lookup")]

    def __str__(self) -> str:
        return f"{self.hash_type}:{self.value[:12]}…"


class PdqEntry(models.Model):
    """One PDQ hash in the multi-index: of a referral's media item or of a known-set hash."""

    pdq = models.CharField(max_length=64)
    media = models.ForeignKey(MediaHash, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    known = models.ForeignKey(KnownHash, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    s0 = models.IntegerField()
    s1 = models.IntegerField()
    s2 = models.IntegerField()
    s3 = models.IntegerField()
    s4 = models.IntegerField()
    s5 = models.IntegerField()
    s6 = models.IntegerField()
    s7 = models.IntegerField()
    s8 = models.IntegerField()
    s9 = models.IntegerField()
    s10 = models.IntegerField()
    s11 = models.IntegerField()
    s12 = models.IntegerField()
    s13 = models.IntegerField()
    s14 = models.IntegerField()
    s15 = models.IntegerField()

    class Meta:
        indexes = [models.Index(fields=[f"s{i}"], name=f"pdq_slice_{i}") for i in range(PDQ_SLICES)]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(media__isnull=True) ^ models.Q(known__isnull=True),
                name="pdq_entry_one_owner",
            )
        ]

    def __str__(self) -> str:
        return self.pdq


def pdq_slices(pdq_hex: str) -> list[int]:
    """The 16 slices of 16 bits of a 256-bit PDQ hash given as 64 hex digits."""
    return [int(pdq_hex[i * 4 : i * 4 + 4], 16) for i in range(PDQ_SLICES)]


def pdq_entry(pdq_hex: str, **owner: object) -> PdqEntry:
    return PdqEntry(pdq=pdq_hex, **owner, **{f"s{i}": v for i, v in enumerate(pdq_slices(pdq_hex))})


class MediaMatch(models.Model):
    """A media item of ``referral`` that matched an item of an earlier-or-concurrent referral
    (``other_media``) or a known-set hash (``known``). A pair of referrals is stored once, on the
    later one, whichever match job finds it first."""

    class Kind(models.TextChoices):
        EXACT = "exact", "Exact"
        NEAR = "near", "Near-duplicate"

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="media_matches")
    media = models.ForeignKey(MediaHash, on_delete=models.CASCADE, related_name="+")
    other_referral = models.ForeignKey(
        Referral, null=True, blank=True, on_delete=models.CASCADE, related_name="media_matched_by"
    )
    other_media = models.ForeignKey(
        MediaHash, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    known = models.ForeignKey(KnownHash, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    hash_type = models.CharField(max_length=6, choices=HashType.choices)
    match = models.CharField(max_length=5, choices=Kind.choices)
    distance = models.PositiveSmallIntegerField(default=0)
    found_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["found_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["media", "other_media", "hash_type"],
                condition=models.Q(other_media__isnull=False),
                name="media_match_pair_once",
            ),
            models.UniqueConstraint(
                fields=["media", "known"],
                condition=models.Q(known__isnull=False),
                name="media_match_known_once",
            ),
            models.CheckConstraint(
                condition=models.Q(other_media__isnull=True) ^ models.Q(known__isnull=True),
                name="media_match_one_target",
            ),
        ]
        indexes = [models.Index(fields=["other_referral"], name="media_match_other")]

    def __str__(self) -> str:
        return f"{self.referral_id} {self.hash_type} {self.match} ({self.distance})"

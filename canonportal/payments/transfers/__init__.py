"""SPEI transfers received: record them once, match them to payments and invoices, let
staff decide the rest, prove them with the CEP.

- :mod:`.matching` — :func:`receive`: every way a transfer arrives ends there, in the
  caller's transaction; its identity (operation date, ordering institution, clave de
  rastreo), copies that change nothing, other transfers under a known key kept for
  staff, and the matching to payments and open invoices;
- :mod:`.queue` — the staff's queue "Transferencias sin aplicar": assign a transfer to
  a customer's invoices (another customer's CLABE needs a confirmation) or mark it as
  not for the portal;
- :mod:`.cep` — Banxico's CEP of the transfers that paid payments (asked with no
  transaction open, recorded in one of its own);
- :mod:`.claims` — "Ya pagué": the customer's claim, limited per payment and company,
  checked with Banxico, then received;
- :mod:`.statements` — bank statements imported by staff, all or nothing;
- :mod:`.notes` — why a transfer is where it is: the code its record keeps, the words
  staff read (:func:`describe_note`);
- :mod:`.arrival` — the one choreography of every door a transfer comes in by (the
  bank's abono, a statement uploaded or imported): record and match in a transaction
  of its own, mail the receipts on it, commit, then ask Banxico for the CEPs.

The names callers use are here, so ``from canonportal.payments import transfers``
is the one way in.
"""
from .arrival import take_statement, take_transfer  # noqa: F401
from .cep import (  # noqa: F401
    CEP_MISMATCH, CEP_MISSING, CEP_PENDING, CEP_VERIFIED, cep_document, cep_due, cep_query,
    fetch_and_record_cep, record_cep,
)
from .claims import claim_allowed, claim_transfer  # noqa: F401
from .matching import SPEI, Received, invoices_paid_by, receive  # noqa: F401
from .notes import describe as describe_note  # noqa: F401
from .queue import assign, clabe_owner, not_for_portal  # noqa: F401
from .statements import MAX_STATEMENT_BYTES, StatementReport, import_statement  # noqa: F401

"""SPEI transfers as the banks and Banxico speak them, knowing nothing of the portal.

* :mod:`.clabes` — the customer's own CLABE in the company's range, the payment's
  numeric reference;
* :mod:`.transfers` — :class:`~.transfers.Transfer`, the one shape every incoming
  transfer takes after parsing, whatever it came in;
* :mod:`.abono` — the receiving bank's deposit notification (STP's "abono" JSON),
  authenticated with the shared secret;
* :mod:`.statements` — bank statements: ISO 20022 camt.053, SWIFT MT940, plain CSV;
* :mod:`.cep` — Banxico's electronic payment receipt (CEP) service.

Matching a transfer to payments and invoices is the portal's business:
:mod:`canonportal.payments.transfers`.
"""

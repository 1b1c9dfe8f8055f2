"""Paying, apart from any page: the payment service and what it stands on.

- :mod:`.service` — the state machine: reserve invoices, settle with verified bank
  data (and mail the receipt once), expire, review, apply from the ERP;
- :mod:`.selection` — which invoices and amounts a customer may pay, and the day's rate;
- :mod:`.form` — the selection, rate and banks as a request asks for them;
- :mod:`.approval_rule` — whether a colleague's payment waits for an approver: the
  company's threshold over what the person commits (same invoices, same day);
- :mod:`.receipts` — the receipt of an approved payment (lines, mail);
- :mod:`.reconciliation` — asking the banks about payments whose notice never came;
- :mod:`.transactions` — a piece of work committed on its own, retried on conflicts;
- :mod:`.transfers` — SPEI transfers received: recorded once under SPEI's identity,
  matched (:mod:`.transfers.matching`), the staff's queue (:mod:`.transfers.queue`),
  Banxico's CEP and "Ya pagué" (:mod:`.transfers.cep`), statement imports
  (:mod:`.transfers.statements`).

Nothing here renders a page or knows a bank's protocol: the banks are reached
through :mod:`canonportal.gateways` by whoever calls the service.
"""

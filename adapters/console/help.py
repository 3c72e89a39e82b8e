"""The console's `help`: every line it understands, one example each."""

HELP = """Lines the console understands (customers write as on Discord, staff as in Slack):
  licences import examples/licences.csv        load licences (a CSV: key,email,product,expires_at)
  clock 2026-12-04T16:00+01:00 | clock +3h     set or move the console's clock (timers fire as it moves)
Customers (any name):
  alice: /support link email:alice@example.com key:SEO-1001
  alice: /ticket open product:seo-suite subject:"…" magento:2.4.6 module:1.3.0 description:"…" steps:"…" changes:"…" errors:"…"
  alice: /ticket status [N]   alice: /ticket list   alice: /ticket close [N]
  alice: /ticket access [N] url:… login:… password:… valid:YYYY-MM-DD
  alice: any text             alice: #N any text     (a message in the ticket thread)
Staff (staff NAME:):
  staff bob: #N answer        staff bob: #N note: internal (never sent to the customer)
  staff bob: #N /claim        staff bob: #N /close resolved|customisation|magento-native|licence-expired|duplicate
  staff bob: #N /request-access        staff bob: #N /view-access
  staff bob: /tickets         staff bob: /tickets mine|stats|N
help shows this; quit, exit, Ctrl-D or Ctrl-C leave."""

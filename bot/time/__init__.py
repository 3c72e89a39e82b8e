"""Time: the business calendar, the clock, SLA deadlines and the timers sweep."""

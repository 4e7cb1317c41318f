"""Half-open date ranges and business-day arithmetic."""
from .ranges import DateRange, days_in_month, first_of_next_month
from .business import add_business_days, business_days_between, is_business_day, next_business_day

__all__ = ["DateRange", "days_in_month", "first_of_next_month", "add_business_days",
           "business_days_between", "is_business_day", "next_business_day"]

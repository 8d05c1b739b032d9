"""The care coordination centre: referrals, pathways, tasks, bookings, the live board, discharge
coordination and support, care plans, telehealth alerts. May import risk, record and below.
"""

"""The charger fleet: OCPI 2.2.1 locations read and received, EVSE statuses rolled up into
component statuses, impact in chargers, and the reliability report."""

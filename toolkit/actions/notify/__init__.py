"""Actions that tell people: a notify step's notice delivered beyond the ticket."""

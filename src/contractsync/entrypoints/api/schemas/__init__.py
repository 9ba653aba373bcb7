"""HTTP DTOs of the process API, apart from the domain model; priced fields are masked."""

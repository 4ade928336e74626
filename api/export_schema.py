"""Write the published GraphQL contract: `python -m api.export_schema`."""

from __future__ import annotations

from pathlib import Path

from api.schema import schema

TARGET = Path(__file__).resolve().parents[1] / "schema" / "schema.graphql"


def main() -> None:
    TARGET.write_text(str(schema).strip() + "\n")
    print(f"wrote {TARGET}")


if __name__ == "__main__":
    main()

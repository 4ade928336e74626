"""GET /reports/transparency.csv?from=YYYY-MM-DD&to=YYYY-MM-DD: the transparency report as CSV.

Same API-key authentication as /graphql (Authorization: Bearer <key>; admins and auditors). Rows are
`section,key,value` (domain.transparency.report_rows), the same figures as the `transparencyReport` query.
"""

from __future__ import annotations

from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from api.auth import authenticate
from api.text_input import check_parameters
from domain.errors import DomainError, ErrorCode
from domain.services.transparency_report import report_csv, transparency_report

_STATUS = {ErrorCode.UNAUTHENTICATED: 401, ErrorCode.FORBIDDEN: 403, ErrorCode.NOT_FOUND: 404,
           ErrorCode.CONFLICT: 409}


def _error(code: ErrorCode, message: str, field: str | None = None) -> Response:
    return JSONResponse({"error": {"code": code.value, "message": message, "field": field}},
                        status_code=_STATUS.get(code, 400))


def _day(request: Request, name: str) -> date:
    from domain.errors import InvalidInput

    value = request.query_params.get(name)
    if not value:
        raise InvalidInput(f"Give '{name}' as YYYY-MM-DD.", name)
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInput(f"'{name}' must be a date as YYYY-MM-DD.", name) from exc


async def transparency_csv(request: Request) -> Response:
    db, settings = request.app.state.db, request.app.state.settings
    try:
        principal = await authenticate(db.pool, request.headers.get("authorization"), settings.operator_key)
        if principal.tenant_id is None:
            from domain.errors import Forbidden

            raise Forbidden("This report needs a tenant API key.")
        check_parameters(request)
        period_from, period_to = _day(request, "from"), _day(request, "to")
        async with db.uow(principal.tenant_id) as uow:
            report = await transparency_report(uow, principal, period_from, period_to)
    except DomainError as exc:
        return _error(exc.code, exc.message, exc.field)
    filename = f"transparency-report-{period_from.isoformat()}-{period_to.isoformat()}.csv"
    return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{filename}"', "cache-control": "no-store"})

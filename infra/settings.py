"""Settings from the environment. Unset service URLs mean "use the embedded default"."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    environment: str = Field("development", alias="NOTICEHUB_ENV")
    database_url: str | None = Field(None, alias="DATABASE_URL")
    redis_url: str | None = Field(None, alias="REDIS_URL")
    amqp_url: str | None = Field(None, alias="AMQP_URL")
    data_dir: Path = Field(Path(".data"), alias="NOTICEHUB_DATA_DIR")
    operator_key: str | None = Field(None, alias="NOTICEHUB_OPERATOR_KEY")
    host: str = Field("127.0.0.1", alias="NOTICEHUB_HOST")
    port: int = Field(8000, alias="NOTICEHUB_PORT")
    web_concurrency: int = Field(1, alias="WEB_CONCURRENCY")
    db_pool_min: int = Field(2, alias="NOTICEHUB_DB_POOL_MIN")
    db_pool_max: int = Field(10, alias="NOTICEHUB_DB_POOL_MAX")
    db_command_timeout_s: float = Field(30.0, alias="NOTICEHUB_DB_COMMAND_TIMEOUT")
    app_role: str = Field("noticehub_app", alias="NOTICEHUB_APP_ROLE")
    system_role: str = Field("noticehub_system", alias="NOTICEHUB_SYSTEM_ROLE")
    broker_namespace: str = Field("noticehub", alias="NOTICEHUB_BROKER_NAMESPACE")
    max_body_bytes: int = Field(2_000_000, alias="NOTICEHUB_MAX_BODY_BYTES")
    max_query_depth: int = Field(12, alias="NOTICEHUB_MAX_QUERY_DEPTH")
    max_aliases: int = Field(30, alias="NOTICEHUB_MAX_ALIASES")
    max_tokens: int = Field(5000, alias="NOTICEHUB_MAX_TOKENS")
    max_page_size: int = Field(200, alias="NOTICEHUB_MAX_PAGE_SIZE")
    public_rate_per_minute: int = Field(300, alias="NOTICEHUB_PUBLIC_RATE_PER_MINUTE")
    relay_poll_interval_s: float = Field(1.0, alias="NOTICEHUB_RELAY_POLL_INTERVAL")
    scheduler_poll_interval_s: float = Field(1.0, alias="NOTICEHUB_SCHEDULER_POLL_INTERVAL")
    # Archive bundles: file:///abs/dir (default <data dir>/archive), s3://bucket/prefix (AWS_* env), gs://, az://
    archive_url: str | None = Field(None, alias="NOTICEHUB_ARCHIVE_URL")
    archive_interval_s: float = Field(60.0, alias="NOTICEHUB_ARCHIVE_INTERVAL")
    archive_batch_size: int = Field(1000, alias="NOTICEHUB_ARCHIVE_BATCH_SIZE")

    @property
    def is_development(self) -> bool:
        return self.environment in {"development", "test"}


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()

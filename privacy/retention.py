"""Retention: a need closed or cancelled more than RETENTION_DAYS ago keeps its statistics (grid, service, status,
times, rating) and its words, and loses what identifies and locates its resident: the columns the inventory marks
``on_retention`` (contact, name, phone, address, building, feedback) and its photos. Photo files no row names
(an upload whose request failed after writing them) go too. Safe to run on a schedule: a need already erased is
left alone."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from core.vocab import ENDED
from intake.photos import forget_photos, remove_files, stray_files
from models import Need, NeedPhoto
from models.personal import retained_blanks


@dataclass
class RetentionReport:
    cutoff: datetime
    needs: int  # needs whose personal values were (or would be) erased
    photos: int
    fields: dict[str, int]  # column -> how many needs held a value in it
    stray_files: int = 0  # photo files no row names (failed uploads)

    def lines(self, dry_run: bool) -> list[str]:
        verb = "将删除" if dry_run else "已删除"
        fields = "，".join(f"{name} {count}" for name, count in self.fields.items() if count) or "无"
        return [f"{self.cutoff:%Y-%m-%d %H:%M} (UTC) 之前办结或撤销的需求：{verb} {self.needs} 条需求的个人信息"
                f"（{fields}），照片 {self.photos} 张；统计数据不变",
                f"上传失败遗留、无记录对应的照片文件：{verb} {self.stray_files} 个"]


def _due(cutoff: datetime) -> ColumnElement[bool]:
    return Need.status.in_(ENDED) & (Need.status_changed_at < cutoff)


def apply_retention(session: Session, now: datetime, days: int, *, dry_run: bool = False) -> RetentionReport:
    cutoff = now - timedelta(days=days)
    blanks = retained_blanks("needs")
    held = {name: getattr(Need, name) != blank if blank is not None else getattr(Need, name).is_not(None)
            for name, blank in blanks.items() if name != "address_candidates"}
    fields = {name: session.scalar(select(func.count(Need.id)).where(_due(cutoff), condition)) or 0
              for name, condition in held.items()}
    ids = list(session.scalars(select(Need.id).where(_due(cutoff), or_(*held.values()))))
    photo_need_ids = list(session.scalars(select(NeedPhoto.need_id).join(Need, Need.id == NeedPhoto.need_id)
                                          .where(_due(cutoff))))
    photos = len(photo_need_ids)
    strays = stray_files(session)
    if not dry_run:
        remove_files(strays)
        if ids:
            session.execute(update(Need).where(Need.id.in_(ids)).values(**blanks)
                            .execution_options(synchronize_session=False))
        if photo_need_ids:
            forget_photos(session, sorted(set(photo_need_ids)))
        session.expire_all()
    return RetentionReport(cutoff, len(set(ids) | set(photo_need_ids)), photos, fields, len(strays))

"""Marshmallow's built-in messages in Chinese, so every field error a user sees is in Chinese.

Imported once by web.schemas; it sets class-level defaults, which is what marshmallow offers for this.
"""
from marshmallow import Schema, fields, validate

fields.Field.default_error_messages = {
    **fields.Field.default_error_messages,
    "required": "必填项",
    "null": "不能为空",
    "validator_failed": "取值无效",
}
_TYPE_MESSAGES: dict[type[fields.Field], str] = {
    fields.String: "应为文本",
    fields.Integer: "应为整数",
    fields.Float: "应为数字",
    fields.Boolean: "应为是/否（true/false）",
    fields.List: "应为列表",
    fields.DateTime: "应为日期时间",
}
for _field, _msg in _TYPE_MESSAGES.items():
    _field.default_error_messages = {**_field.default_error_messages, "invalid": _msg}

fields.Enum.default_error_messages = {**fields.Enum.default_error_messages, "unknown": "应为以下之一：{choices}"}

validate.Length.message_min = "至少 {min} 个字符（项）"
validate.Length.message_max = "最多 {max} 个字符（项）"
validate.Length.message_all = "长度应在 {min} 到 {max} 之间"
validate.Length.message_equal = "长度应为 {equal}"
validate.Range.message_min = "应{min_op} {{min}}"
validate.Range.message_max = "应{max_op} {{max}}"
validate.Range.message_all = "应{min_op} {{min}} 且{max_op} {{max}}"
validate.Range.message_gte = "不小于"
validate.Range.message_gt = "大于"
validate.Range.message_lte = "不大于"
validate.Range.message_lt = "小于"
validate.OneOf.default_message = "应为以下之一：{choices}"
validate.Regexp.default_message = "格式不正确"
Schema._default_error_messages = {
    **Schema._default_error_messages,
    "unknown": "未知字段",
    "type": "应为 JSON 对象",
}

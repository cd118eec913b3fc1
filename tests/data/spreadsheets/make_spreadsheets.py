"""Write the spreadsheet guideline fixtures (an invented program, in our own words) as .xlsx, .xls and .ods.

    pip install openpyxl xlwt odfpy && python tests/data/spreadsheets/make_spreadsheets.py

fundgraph reads them with python-calamine; openpyxl, xlwt and odfpy only write them here (the files are committed).
The sheet is laid out as such lists of directions (指南方向表) usually are: the title merged across the table, the
issuer under it, a header row, a 类别 column merged over the rows of each category, numbers as numbers, a cell
with a line break, a note under the table, and a second sheet with the schedule (not directions).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
TITLE = "2026年度东湖市重点研发计划项目指南方向表"
ISSUER = "东湖市科学技术局"
HEADER = ["序号", "类别", "方向名称", "研究内容", "考核指标", "支持经费（万元）"]
ROWS = [
    (1, "重点项目", "城市内涝积水点的多源感知与分钟级预报",
     "融合雨量站、视频与管网液位数据，建立易涝点积水深度的短临预报方法。\n在两个城区开展示范。",
     "预报提前量不少于30分钟，积水深度误差不超过10厘米。", 200),
    (2, None, "老旧小区加装电梯的结构安全快速评估技术",
     "研究砖混结构既有住宅加装电梯后的荷载变化与基础沉降规律，形成快速评估流程。",
     "形成评估导则1项，完成评估案例不少于20个。", 150),
    (3, "一般项目", "社区老年人跌倒风险的可穿戴监测与干预",
     "研制低功耗跌倒风险监测手环，建立社区干预随访机制。",
     "监测准确率不低于90%，纳入老年人不少于500名。", 60),
    (4, None, "湖泊蓝藻水华的无人船巡测与早期预警",
     "研发搭载多参数水质探头的无人船巡测系统，建立水华暴发早期预警指标。",
     "巡测覆盖水域面积不少于10平方公里。", 60.5),
    (5, None, "农产品批发市场冷链温度的全程追溯方法",
     "建立冷链运输环节温度数据的采集、上链与追溯方法。",
     "接入冷链车辆不少于100辆。", 50),
]
NOTE = "注：支持经费为市财政资助上限，单位自筹经费不低于财政资助的1:1。"
SCHEDULE = [("序号", "阶段", "时间"), (1, "网上申报", "2026年3月1日至3月31日"), (2, "专家评审", "2026年4月")]


def write_xlsx(path: Path) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "指南方向"
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append([ISSUER])
    ws.append([])
    ws.append(HEADER)
    for row in ROWS:
        ws.append(list(row))
    ws.merge_cells("B5:B6")  # 重点项目 over rows 1-2
    ws.merge_cells("B7:B9")  # 一般项目 over rows 3-5
    ws.append([])
    ws.append([NOTE])
    schedule = wb.create_sheet("时间安排")
    for row in SCHEDULE:
        schedule.append(list(row))
    wb.save(path)


def write_xls(path: Path) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("指南方向")
    ws.write_merge(0, 0, 0, len(HEADER) - 1, TITLE)
    ws.write(1, 0, ISSUER)
    for j, h in enumerate(HEADER):
        ws.write(3, j, h)
    for i, row in enumerate(ROWS, start=4):
        for j, v in enumerate(row):
            if v is not None and j != 1:
                ws.write(i, j, v)
    ws.write_merge(4, 5, 1, 1, "重点项目")
    ws.write_merge(6, 8, 1, 1, "一般项目")
    ws.write(10, 0, NOTE)
    schedule = wb.add_sheet("时间安排")
    for i, row in enumerate(SCHEDULE):
        for j, v in enumerate(row):
            schedule.write(i, j, v)
    wb.save(str(path))


def write_ods(path: Path) -> None:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import CoveredTableCell, Table, TableCell, TableRow
    from odf.text import P

    def cell(value: object = None, **span: int) -> TableCell:
        if value is None:
            return TableCell()
        if isinstance(value, int | float):
            c = TableCell(valuetype="float", value=value, **span)
        else:
            c = TableCell(valuetype="string", **span)
        for part in str(value).split("\n"):
            c.addElement(P(text=part))
        return c

    def row(*cells: TableCell) -> TableRow:
        r = TableRow()
        for c in cells:
            r.addElement(c)
        return r

    doc = OpenDocumentSpreadsheet()
    sheet = Table(name="指南方向")
    sheet.addElement(row(cell(TITLE, numbercolumnsspanned=len(HEADER)),
                         *[CoveredTableCell() for _ in HEADER[1:]]))
    sheet.addElement(row(cell(ISSUER)))
    sheet.addElement(row(cell()))
    sheet.addElement(row(*[cell(h) for h in HEADER]))
    for k, (no, category, *rest) in enumerate(ROWS):
        spans = {0: 2, 2: 3}  # 重点项目 over rows 1-2, 一般项目 over rows 3-5
        middle = cell(category, numberrowsspanned=spans[k]) if k in spans else CoveredTableCell()
        sheet.addElement(row(cell(no), middle, *[cell(v) for v in rest]))
    sheet.addElement(row(cell()))
    sheet.addElement(row(cell(NOTE)))
    doc.spreadsheet.addElement(sheet)
    schedule = Table(name="时间安排")
    for r in SCHEDULE:
        schedule.addElement(row(*[cell(v) for v in r]))
    doc.spreadsheet.addElement(schedule)
    doc.save(str(path))


if __name__ == "__main__":
    write_xlsx(HERE / "donghu-2026.xlsx")
    write_xls(HERE / "donghu-2026.xls")
    write_ods(HERE / "donghu-2026.ods")

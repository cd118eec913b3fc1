"""A new guideline end to end: `fundgraph add` a .docx, `fundgraph build`, then the API serves the new program.

The guideline is invented for this test (our own words): a provincial brain-science program, eight directions
numbered 方向一： … 方向八： (a layout none of the five seeds uses) under 二、拟资助方向, with numbered lists
before and after it that are not directions. Several directions share topics with the bundled corpus
(阿尔茨海默病 PET/MRI imaging, 脑机接口, 帕金森病), so cross-program similarity exists.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from fundgraph.cli import app
from fundgraph.core.settings import Settings, get_settings

TITLE = [
    "2026年度青岚省脑科学与类脑智能联合基金项目申报指南",
    "（征求意见稿）",
    "青岚省科学技术厅　青岚省卫生健康委员会",
]
INTRO = [
    "为推动脑科学基础研究与临床转化，青岚省科学技术厅与省内医疗机构共同设立脑科学与类脑智能联合基金。"
    "现将2026年度项目申报有关事项通知如下。",
    "一、申报条件",
    "1. 申请人须为省内高等院校、科研院所或医疗机构的在职人员。",
    "2. 申请人同年度只能申请1项本联合基金项目。",
    "二、拟资助方向",
]
DIRECTIONS = [
    ("阿尔茨海默病早期诊断的PET与磁共振多模态影像标志物研究",
     "联合淀粉样蛋白PET、tau蛋白PET与结构磁共振成像，建立阿尔茨海默病临床前期患者的影像标志物组合，"
     "开展多中心队列验证，形成早期诊断与风险分层模型。"),
    ("面向运动功能重建的无创脑机接口解码方法",
     "研究头皮脑电与近红外光谱融合的脑机接口运动意图解码算法，构建卒中后偏瘫患者康复训练的闭环系统。"),
    ("帕金森病步态障碍的神经调控与定量评估",
     "基于可穿戴传感与多模态影像，评估帕金森病冻结步态的发生机制，探索经颅磁刺激等无创神经调控的个体化方案。"),
    ("抑郁症脑网络功能磁共振成像的疗效预测",
     "利用静息态功能磁共振成像刻画抑郁症患者脑网络异常，建立药物与物理治疗疗效的影像预测模型。"),
    ("癫痫致痫灶的多模态影像精准定位",
     "融合高场磁共振、PET与脑电源定位，提高难治性癫痫致痫灶术前定位的准确性。"),
    ("类脑计算芯片的脉冲神经网络架构",
     "研究低功耗脉冲神经网络的硬件架构与片上学习机制，面向边缘感知应用开展验证。"),
    ("儿童孤独症谱系障碍的脑影像与行为表型关联",
     "建立儿童孤独症谱系障碍的多模态脑影像与行为数据库，解析脑结构发育异常与核心症状的关联。"),
    ("脑卒中后认知障碍的影像组学风险预测",
     "基于急性期磁共振影像组学特征与临床信息，构建脑卒中后认知障碍的早期风险预测模型。"),
]
OUTRO = [
    "三、资助方式",
    "1. 重点项目每项资助80万元，执行期4年。",
    "2. 面上项目每项资助20万元，执行期3年。",
    "四、联系方式",
    "联系人：省基金委办公室，电话：0000-0000000。",
]
CN = "一二三四五六七八"


def write_guideline(path: Path) -> Path:
    import docx

    d = docx.Document()
    for line in TITLE:
        d.add_paragraph(line)
    for line in INTRO:
        d.add_paragraph(line)
    for k, (title, content) in enumerate(DIRECTIONS):
        d.add_paragraph(f"方向{CN[k]}：{title}")
        d.add_paragraph(f"研究内容：{content}")
    for line in OUTRO:
        d.add_paragraph(line)
    d.save(str(path))
    return path


def invoke(args: list[str], env: dict[str, str]):
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args, env=env)
    finally:
        get_settings.cache_clear()


@pytest.fixture(scope="module")
def added_and_built(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ingest-e2e")
    home = root / "home"
    env = {"FUNDGRAPH_HOME": str(home), "FUNDGRAPH_STORE": "embedded", "FUNDGRAPH_ENCODER": "lexical"}
    guideline = write_guideline(root / "qinglan_brain_2026.docx")
    added = invoke(["add", str(guideline)], env)
    assert added.exit_code == 0, added.output
    built = invoke(["build"], env)
    assert built.exit_code == 0, built.output
    return home, added, built


def test_add_copies_the_document_and_writes_a_manifest_entry(added_and_built):
    home, added, _built = added_and_built
    assert "8 directions" in added.output
    assert DIRECTIONS[0][0] in added.output  # the first titles are shown
    manifest = yaml.safe_load((home / "corpus" / "manifest.yaml").read_text(encoding="utf-8"))
    [entry] = manifest["documents"]
    assert entry == {
        "id": "qinglan-brain-2026", "name": TITLE[0], "name_en": TITLE[0],
        "funder": ["青岚省科学技术厅", "青岚省卫生健康委员会"], "year": 2026,
        "status": "征求意见稿", "status_en": "draft for comments", "file": "qinglan_brain_2026.docx",
        "profile": "auto",
    }
    assert (home / "corpus" / "guidelines" / "qinglan_brain_2026.docx").is_file()


def test_build_includes_the_bundled_and_the_user_corpus(added_and_built):
    _home, _added, built = added_and_built
    assert "built 6 programs, 132 directions" in built.stdout, built.output
    assert "left out" not in built.output


def test_the_api_lists_the_new_program_with_entities_and_cross_program_neighbours(added_and_built):
    from fundgraph.api.app import create_app

    home, _added, _built = added_and_built
    settings = Settings(home=home, store="embedded", encoder="lexical")
    with TestClient(create_app(settings, static_dir=None)) as client:
        programs = {p["id"]: p for p in client.get("/api/programs").json()}
        assert programs["qinglan-brain-2026"]["direction_count"] == 8
        assert programs["qinglan-brain-2026"]["year"] == 2026
        page = client.get("/api/directions", params={"program": "qinglan-brain-2026", "limit": 50}).json()
        items = page["items"]
        assert [d["title"] for d in items] == [t for t, _ in DIRECTIONS]

        details = [client.get(f"/api/directions/{d['id']}").json() for d in items]
        diseases = {e["id"] for det in details for e in det["entities"].get("diseases", [])}
        assert {"disease:alzheimer", "disease:parkinson", "disease:epilepsy"} <= diseases, diseases
        assert all(any(det["entities"].values()) for det in details[:5])

        linked: dict[str, list[str]] = {}
        for d in items:
            sim = client.get(f"/api/directions/{d['id']}/similar", params={"k": 5, "scope": "cross-program"}).json()
            above = [s["direction"]["program_id"] for s in sim["items"] if s["above_threshold"]]
            assert "qinglan-brain-2026" not in above
            if above:
                linked[d["title"]] = above
        # the Alzheimer imaging direction finds the bundled imaging fund's directions
        assert "gd-imaging-2026" in linked.get(DIRECTIONS[0][0], []), linked
        assert len(linked) >= 2, linked

        health = client.get("/api/health").json()
        assert health["left_out"] == []

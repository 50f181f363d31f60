"""``medmnist`` declared: MedMNIST's 2D flavours, real and strongly imbalanced medical image sets (Yang et al.
2023), with each flavour's task, channels, class descriptions, files' MD5 and split sizes; read by
:mod:`imbalance_lab.data.medmnist`. The table is MedMNIST's (``medmnist/info.py``, v3.0.2).

References
----------
Yang, J., Shi, R., Wei, D., Liu, Z., Zhao, L., Ke, B., Pfister, H., & Ni, B. (2023). MedMNIST v2 - A
large-scale lightweight benchmark for 2D and 3D biomedical image classification. Scientific Data, 10, 41.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import Field

from imbalance_lab.declarations.sources.base import SOURCES, SourceLabels
from imbalance_lab.errors import DataError


@dataclass(frozen=True)
class Flavour:
    """One 2D flavour: its task, channels, class descriptions (in label order), each size's MD5, split sizes."""

    task: str
    channels: int
    labels: tuple[str, ...]
    md5: dict[int, str]
    samples: tuple[int, int, int]


ORGANS = (
    "bladder", "femur-left", "femur-right", "heart", "kidney-left", "kidney-right", "liver", "lung-left",
    "lung-right", "pancreas", "spleen",
)  # fmt: skip
"""The organs of the three OrganMNIST flavours (axial, coronal and sagittal views of the same CT scans)."""

FLAVOURS: dict[str, Flavour] = {
    "pathmnist": Flavour(
        "multi-class",
        3,
        (
            "adipose",
            "background",
            "debris",
            "lymphocytes",
            "mucus",
            "smooth muscle",
            "normal colon mucosa",
            "cancer-associated stroma",
            "colorectal adenocarcinoma epithelium",
        ),
        {
            28: "a8b06965200029087d5bd730944a56c1",
            64: "55aa9c1e0525abe5a6b9d8343a507616",
            128: "ac42d08fb904d92c244187169d1fd1d9",
            224: "2c51a510bcdc9cf8ddb2af93af1eadec",
        },
        (89996, 10004, 7180),
    ),
    "chestmnist": Flavour(
        "multi-label, binary-class",
        1,
        (
            "atelectasis",
            "cardiomegaly",
            "effusion",
            "infiltration",
            "mass",
            "nodule",
            "pneumonia",
            "pneumothorax",
            "consolidation",
            "edema",
            "emphysema",
            "fibrosis",
            "pleural",
            "hernia",
        ),
        {
            28: "02c8a6516a18b556561a56cbdd36c4a8",
            64: "9de6cd0b934ebb5b7426cfba5efbae16",
            128: "db107e5590b27930b62dbaf558aebee3",
            224: "45bd33e6f06c3e8cdb481c74a89152aa",
        },
        (78468, 11219, 22433),
    ),
    "dermamnist": Flavour(
        "multi-class",
        3,
        (
            "actinic keratoses and intraepithelial carcinoma",
            "basal cell carcinoma",
            "benign keratosis-like lesions",
            "dermatofibroma",
            "melanoma",
            "melanocytic nevi",
            "vascular lesions",
        ),
        {
            28: "0744692d530f8e62ec473284d019b0c7",
            64: "b70a2f5635c6199aeaa28c31d7202e1f",
            128: "2defd784463fa5243564e855ed717de1",
            224: "8974907d8e169bef5f5b96bc506ae45d",
        },
        (7007, 1003, 2005),
    ),
    "octmnist": Flavour(
        "multi-class",
        1,
        (
            "choroidal neovascularization",
            "diabetic macular edema",
            "drusen",
            "normal",
        ),
        {
            28: "c68d92d5b585d8d81f7112f81e2d0842",
            64: "e229e9440236b774d9f0dfef9d07bdaf",
            128: "0a97e76651ace45c5d943ee3f65b63ae",
            224: "abc493b6d529d5de7569faaef2773ba3",
        },
        (97477, 10832, 1000),
    ),
    "pneumoniamnist": Flavour(
        "binary-class",
        1,
        (
            "normal",
            "pneumonia",
        ),
        {
            28: "28209eda62fecd6e6a2d98b1501bb15f",
            64: "8f4eceb4ccffa70c672198ea285246c6",
            128: "05b46931834c231683c68f40c47b2971",
            224: "d6a3c71de1b945ea11211b03746c1fe1",
        },
        (4708, 524, 624),
    ),
    "retinamnist": Flavour(
        "ordinal-regression",
        3,
        (
            "0",
            "1",
            "2",
            "3",
            "4",
        ),
        {
            28: "bd4c0672f1bba3e3a89f0e4e876791e4",
            64: "afda852cc34dcda56f86ad2b2457dbcc",
            128: "e48e916a24454daf90583d4e6efb1a18",
            224: "eae7e3b6f3fcbda4ae613ebdcbe35348",
        },
        (1080, 120, 400),
    ),
    "breastmnist": Flavour(
        "binary-class",
        1,
        (
            "malignant",
            "normal, benign",
        ),
        {
            28: "750601b1f35ba3300ea97c75c52ff8f6",
            64: "742edef2a1fd1524b2efff4bd7ba9364",
            128: "363e4b3f8d712e9b5de15470a2aaadf1",
            224: "b56378a6eefa9fed602bb16d192d4c8b",
        },
        (546, 78, 156),
    ),
    "bloodmnist": Flavour(
        "multi-class",
        3,
        (
            "basophil",
            "eosinophil",
            "erythroblast",
            "immature granulocytes(myelocytes, metamyelocytes and promyelocytes)",
            "lymphocyte",
            "monocyte",
            "neutrophil",
            "platelet",
        ),
        {
            28: "7053d0359d879ad8a5505303e11de1dc",
            64: "2b94928a2ae4916078ca51e05b6b800b",
            128: "adace1e0ed228fccda1f39692059dd4c",
            224: "b718ff6835fcbdb22ba9eacccd7b2601",
        },
        (11959, 1712, 3421),
    ),
    "tissuemnist": Flavour(
        "multi-class",
        1,
        (
            "Collecting Duct, Connecting Tubule",
            "Distal Convoluted Tubule",
            "Glomerular endothelial cells",
            "Interstitial endothelial cells",
            "Leukocytes",
            "Podocytes",
            "Proximal Tubule Segments",
            "Thick Ascending Limb",
        ),
        {
            28: "ebe78ee8b05294063de985d821c1c34b",
            64: "123ece2eba09d0aa5d698fda57103344",
            128: "61b955355d7425a89687b06cca3ce0c2",
            224: "b077128c4a949f0a4eb01517f9037b9c",
        },
        (165466, 23640, 47280),
    ),
    "organamnist": Flavour(
        "multi-class",
        1,
        ORGANS,
        {
            28: "68e3f8846a6bd62f0c9bf841c0d9eacc",
            64: "2dcccc29b88e6da5a01161ef20cda288",
            128: "eeae80d0a227a8d099027e1b3cfd3b60",
            224: "50747347e05c87dd3aaf92c49f9f3170",
        },
        (34561, 6491, 17778),
    ),
    "organcmnist": Flavour(
        "multi-class",
        1,
        ORGANS,
        {
            28: "b9ceb9546e10131b32923c5bbeaea2b1",
            64: "3ce34a8724ea6f548e6db4744d03b6a9",
            128: "773c1f009daa3fe5d9a2a201b2a7ed94",
            224: "050f5e875dc056f6768abf94ec9995d1",
        },
        (12975, 2392, 8216),
    ),
    "organsmnist": Flavour(
        "multi-class",
        1,
        ORGANS,
        {
            28: "9ab87b696fb54e2a387ebe992d6ed5f1",
            64: "53a6d115339d874c25e309a994ff46d3",
            128: "ded0c5fa01a95dc4978b956f613e9b8e",
            224: "b354719e553fbbb2513d5533f52a4cb1",
        },
        (13932, 2452, 8827),
    ),
}

FlavourName = Annotated[
    Literal[
        "pathmnist", "chestmnist", "dermamnist", "octmnist", "pneumoniamnist", "retinamnist", "breastmnist",
        "bloodmnist", "tissuemnist", "organamnist", "organcmnist", "organsmnist",
    ],
    Field(description="the 2D flavour (chestmnist is multi-label and refused)"),
]  # fmt: skip
Size = Annotated[Literal[28, 64, 128, 224], Field(description="image side in pixels (64, 128, 224: MedMNIST+)")]
Root = Annotated[str | None, Field(description="folder of the npz files; default ~/.cache/imbalance-lab/medmnist")]


@SOURCES.declare
def medmnist(flavour: FlavourName, size: Size = 28, root: Root = None, download: bool = True) -> SourceLabels | None:
    """A MedMNIST 2D flavour (e.g. dermamnist, bloodmnist, pneumoniamnist) at 28 to 224 px, its splits as partitions.

    Parameters
    ----------
    flavour : str
        One of MedMNIST's 2D flavours but ``chestmnist`` (multi-label: an image can have several findings).
        ``retinamnist`` is ordinal (grades 0-4), used here as five classes.
    size : {28, 64, 128, 224}, default 28
    root : str, optional
        The folder of the npz files; default ``$XDG_CACHE_HOME/imbalance-lab/medmnist`` (``~/.cache/...``).
    download : bool, default True
        Download a missing file once (checked against its published MD5). With ``false``, or offline, a
        missing file is an error naming the file, the folder and the URL.

    Returns
    -------
    ImageSet
        ``uint8`` images ``N×C×H×W`` (C is 1 or 3) of the train, val and test splits in that order, ``int64``
        labels, class names from MedMNIST's descriptions (spaces and punctuation as ``_``, e.g. ``melanoma``,
        ``melanocytic_nevi``), and the splits as partitions ``train``, ``val``, ``test``.
    """
    info = FLAVOURS[flavour]
    if info.task.startswith("multi-label"):
        raise DataError(
            f"medmnist: {flavour} is multi-label (an image can have several of its {len(info.labels)} findings), "
            "which a single-label experiment cannot use; choose another flavour"
        )
    return None

"""The file MLflow logs "from code" and runs on load: it names the python model, and does nothing else."""

import mlflow.models

from models.inference.pyfunc import ModelFolderPyfunc

mlflow.models.set_model(ModelFolderPyfunc())

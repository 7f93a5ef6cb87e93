"""A minimal Flask + Flask-JWT-Extended 4 resource server holding gatehouse's HS256 key.

Run by the e2e suite as: FLASK_RS_SECRET=<key> FLASK_RS_PORT=<port> /usr/bin/python3 flask_resource_server.py
"""

import os

from flask import Flask, jsonify
from flask_jwt_extended import JWTManager, get_jwt, get_jwt_identity, jwt_required
from werkzeug.serving import run_simple

app = Flask(__name__)
app.config["JWT_SECRET_KEY"] = os.environ["FLASK_RS_SECRET"]
app.config["JWT_TOKEN_LOCATION"] = ["headers"]
jwt = JWTManager(app)


@app.get("/ping")
def ping():
    return jsonify(ok=True)


@app.get("/protected")
@jwt_required()
def protected():
    claims = get_jwt()
    return jsonify(identity=get_jwt_identity(), type=claims.get("type"), fresh=claims.get("fresh"))


@app.get("/claims")
@jwt_required()
def all_claims():
    """The whole payload as Flask-JWT-Extended read it: additional claims included."""
    return jsonify(get_jwt())


@app.get("/refresh-only")
@jwt_required(refresh=True)
def refresh_only():
    return jsonify(identity=get_jwt_identity(), type=get_jwt().get("type"))


if __name__ == "__main__":
    run_simple("127.0.0.1", int(os.environ["FLASK_RS_PORT"]), app, threaded=True)

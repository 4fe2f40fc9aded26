"""MQTT: the publisher for any broker (paho-mqtt, MQTT 3.1.1) and the local stack's embedded broker (amqtt)."""
